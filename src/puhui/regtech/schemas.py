"""What the regtech API answers with: the published shape of a monitoring rule (监测规则) and its versions,
an alert (预警) with its evidence, a case (案件) with its priority and history, a lender's related party
(关联方), the large-value (大额交易报告) and suspicious transaction reports (可疑交易报告) with their
deadlines (报送期限), a suspicious transaction report's file, and the supervision dashboard (监管数据看板).
Amounts are decimal strings, times ISO 8601 strings, dates China business dates; the models document and
check them, the services build them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from puhui.api.fields import Day, Money, Schema, Timestamp

Typology = Literal[
    "large_value",
    "structuring",
    "rapid_in_out",
    "fan_in",
    "fan_out",
    "round_amount",
    "night_burst",
    "dormant",
    "self_financing",
    "loan_layering",
    "fund_pool",
    "shared_device",
    "mule_chain",
]
AlertTypology = Typology | Literal["cycle", "gather_scatter"]
"""A rule's typology, or one of the graph analytics' (`puhui regtech graph`): funds going round, and hubs."""
CaseStatus = Literal["open", "assigned", "investigating", "escalated", "closed_false_positive", "reported"]
ReportStatus = Literal["generated", "submitted"]
PartyKind = Literal["natural", "non_natural", "any"]
Direction = Literal["in", "out"]

RuleAmount = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]{1,2})?$",
        examples=["50000"],
        description='an amount in CNY (元) as the rule\'s author wrote it, e.g. "50000" or "49999.50"',
    ),
]
RuleRatio = Annotated[
    str,
    Field(pattern=r"^[0-9]+(\.[0-9]+)?$", examples=["0.9"], description='a ratio from 0 to 1 as a decimal, e.g. "0.8"'),
]
Seconds = Annotated[int, Field(description="a window in seconds")]
Ratio = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]{6})?$",
        examples=["0.052632"],
        description='a ratio as a decimal string rounded to six places, e.g. "1.250000" ("0" when nothing to measure)',
    ),
]
ChinaTime = Annotated[
    str,
    Field(
        json_schema_extra={"format": "date-time"},
        examples=["2026-02-13T10:00:00+08:00"],
        description="ISO 8601 in China Standard Time (+08:00)",
    ),
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the report's file, hex")]


# --- monitoring rules (监测规则) ---------------------------------------------------------------------


class LargeValueRuleParams(Schema):
    """大额交易: a single transaction or a China day's cumulation per party and direction at or over `threshold`."""

    typology: Literal["large_value"]
    channel: Literal["cash", "transfer"]
    party_kind: PartyKind
    cross_border: bool | None
    threshold: RuleAmount


class StructuringRuleParams(Schema):
    """拆分交易: at least `min_count` payments each `low_ratio`-100% of `threshold` within the window."""

    typology: Literal["structuring"]
    threshold: RuleAmount
    low_ratio: RuleRatio
    min_count: int
    window_seconds: Seconds
    direction: Literal["in", "out", "any"]


class RapidInOutRuleParams(Schema):
    """快进快出: at least `min_in` received, then `out_ratio` of it paid out within the window."""

    typology: Literal["rapid_in_out"]
    min_in: RuleAmount
    out_ratio: RuleRatio
    window_seconds: Seconds
    through_seconds: int = Field(
        description="money parked in the party's own products (the fund) up to this long still counts (0: off)"
    )


class FanRuleParams(Schema):
    """分散转入集中转出 (fan_in) / 集中转入分散转出 (fan_out): many distinct counterparties within the window."""

    typology: Literal["fan_in", "fan_out"]
    min_counterparties: int
    window_seconds: Seconds
    party_kind: PartyKind
    counterparty_kind: PartyKind
    min_total: RuleAmount | None = Field(None, description="at least this much in all (CNY)")
    min_onward_ratio: RuleRatio | None = Field(
        None, description="fan_in: this share of the money passed on to persons or a card within the window"
    )
    min_third_party_ratio: RuleRatio | None = Field(
        None, description="fan_out: this share of the money scattered came from other persons"
    )


class RoundAmountRuleParams(Schema):
    """整数金额: at least `min_count` multiples of `unit`, each at least `min_amount`, within the window."""

    typology: Literal["round_amount"]
    unit: RuleAmount
    min_amount: RuleAmount
    min_count: int
    window_seconds: Seconds


class NightBurstRuleParams(Schema):
    """夜间集中交易: at least `min_count` outgoing payments between `start_hour` and `end_hour` China time."""

    typology: Literal["night_burst"]
    start_hour: int
    end_hour: int
    min_count: int
    window_seconds: Seconds


class DormantRuleParams(Schema):
    """长期不动户突然启用: quiet for `dormant_days`, then at least `min_amount` moved within the window."""

    typology: Literal["dormant"]
    dormant_days: int
    min_amount: RuleAmount
    window_seconds: Seconds


class SelfFinancingRuleParams(Schema):
    """自融: at least `min_ratio` of a loan paid to its lender's related parties (关联方) within the window."""

    typology: Literal["self_financing"]
    min_ratio: RuleRatio
    window_seconds: Seconds


class LoanLayeringRuleParams(Schema):
    """以贷洗钱: a loan of at least `min_loan` passed on to persons (`onward_ratio` within `onward_seconds`),
    or `repaid_ratio` of it repaid within the window with money third parties paid in."""

    typology: Literal["loan_layering"]
    min_loan: RuleAmount
    onward_ratio: RuleRatio
    onward_seconds: Seconds
    repaid_ratio: RuleRatio
    window_seconds: Seconds


class FundPoolRuleParams(Schema):
    """资金池: at least `min_payers` distinct payers and `out_ratio` of the money withdrawn to a bank account."""

    typology: Literal["fund_pool"]
    min_payers: int
    out_ratio: RuleRatio
    window_seconds: Seconds
    party_kind: PartyKind


class SharedDeviceRuleParams(Schema):
    """一机多户: one device pays for at least `min_accounts` distinct accounts within the window."""

    typology: Literal["shared_device"]
    min_accounts: int
    window_seconds: Seconds


class MuleChainRuleParams(Schema):
    """资金链: `min_hops` accounts in a row each pass on at least 1 − `max_decay` of at least `min_amount`
    within `hop_seconds`; the chain may take `window_seconds` from its first hop to its last."""

    typology: Literal["mule_chain"]
    min_amount: RuleAmount
    max_decay: Annotated[str, Field(pattern=r"^0(\.[0-9]+)?$", description="share shaved per hop, below 1")]
    hop_seconds: Seconds
    min_hops: int
    window_seconds: Seconds


RuleParams = Annotated[
    LargeValueRuleParams
    | StructuringRuleParams
    | RapidInOutRuleParams
    | FanRuleParams
    | RoundAmountRuleParams
    | NightBurstRuleParams
    | DormantRuleParams
    | SelfFinancingRuleParams
    | LoanLayeringRuleParams
    | FundPoolRuleParams
    | SharedDeviceRuleParams
    | MuleChainRuleParams,
    Field(discriminator="typology"),
]


class MonitoringRule(Schema):
    """A version of a monitoring rule (监测规则): one typology with its parameters, every one filled in."""

    code: str
    version: int
    enabled: bool
    description: str
    params: RuleParams
    changed_by: str | None = Field(description="who saved this version (null: the platform's default)")
    changed_at: Timestamp | None = Field(description="when it was saved (null: the platform's default)")


class MonitoringRules(Schema):
    """The rules in force: each code's latest version (a default until a version is stored)."""

    rules: list[MonitoringRule]


class MonitoringRuleHistory(Schema):
    """A rule in force and all its versions, oldest first."""

    rule: MonitoringRule
    history: list[MonitoringRule]


# --- alerts (预警) and cases (案件) ------------------------------------------------------------------


class AlertRule(Schema):
    """The rule and version that raised an alert."""

    code: str
    version: int


class AlertWindow(Schema):
    """The window of flows an alert covers."""

    start: Timestamp
    end: Timestamp


class EvidenceFlow(Schema):
    """One flow (资金流) of an alert's evidence, from the party's side."""

    ref: str
    position: int
    direction: Direction
    counterparty: str | None
    amount: Money
    at: Timestamp
    channel: str | None = Field(
        description="transfer, cash, loan, mmf, fund, policy or broker (null: stored before channels)"
    )
    purpose: str | None = Field(None, description="a P2P transfer's declared purpose (用途), when one was declared")


class AlertEvidence(Schema):
    """The flows that tripped the rule (`key` names them for the alert's id)."""

    key: str
    score: int = Field(description="0-100: the typology's weight, the amount and the accounts named")
    accounts: list[str] = Field(description="every account a chain alert names, in order (empty: its party only)")
    flows: list[EvidenceFlow]
    context: list[str] = Field(
        default_factory=list,
        description="what moved the score: declared purposes that fit the pattern (lower) or do not (higher)",
    )


class MonitoringAlert(Schema):
    """An alert (预警): a rule tripped on a party's flows, with the evidence, its window and the case it is in."""

    id: str
    rule: AlertRule
    typology: AlertTypology
    party: str
    window: AlertWindow
    amount: Money
    score: int = Field(description="0-100, for ranking: likeliest laundering first")
    evidence: AlertEvidence
    position: int
    raised_at: Timestamp
    case_id: str | None


class MonitoringAlerts(Schema):
    alerts: list[MonitoringAlert]


class CasePriority(Schema):
    """A case's priority (优先级): `score` = 10 × distinct typologies + the amount band (digits of the yuan total)."""

    score: int
    typologies: int
    alerts: int
    amount: Money


class CaseEvent(Schema):
    """A step of a case's history: who moved it from one status to another (`from` null when it opened)."""

    from_status: CaseStatus | None = Field(alias="from")
    to: CaseStatus
    by: str
    note: str | None
    at: Timestamp


class MonitoringCase(Schema):
    """A case (案件): alerts of one party under investigation, its priority and history."""

    id: str
    status: CaseStatus
    party: str
    assignee: str | None
    opened_by: str
    opened_at: Timestamp
    priority: CasePriority
    alerts: list[MonitoringAlert]
    history: list[CaseEvent]


class MonitoringCases(Schema):
    cases: list[MonitoringCase]


class CasesFromAlerts(Schema):
    """Alerts in no case put in cases: the cases opened, the open cases they joined, and how many alerts."""

    opened: list[str]
    extended: list[str]
    alerts: int


# --- related parties (关联方) ------------------------------------------------------------------------


class RelatedPartyAdded(Schema):
    """A lender's related party (关联方) registered: `lender` is "platform" or a funding partner's id."""

    lender: str
    party: str
    relation: str


class RelatedParty(RelatedPartyAdded):
    """A lender's related party (关联方), with who registered it and when."""

    created_at: Timestamp
    created_by: str


class RelatedParties(Schema):
    related_parties: list[RelatedParty]


class RelatedPartyRemoved(Schema):
    lender: str
    party: str
    removed: Literal[True]


# --- regulatory reports (监管报告) -------------------------------------------------------------------


class LargeValueReport(Schema):
    """A large-value transaction report (大额交易报告) of a business date: its deadline (报送期限), status and
    file's digest; `overdue` when still unsubmitted after the deadline."""

    id: str
    kind: Literal["large_value"]
    business_date: Day
    deadline: Day
    status: ReportStatus
    overdue: bool
    lines: int
    sha256: Sha256
    created_by: str
    created_at: Timestamp
    submitted_by: str | None
    submitted_at: Timestamp | None


class SuspiciousReport(Schema):
    """A suspicious transaction report (可疑交易报告) of a reported case: due 5 working days after the date the
    case was determined suspicious (认定可疑之日); `overdue` when still unsubmitted after the deadline."""

    id: str
    kind: Literal["suspicious"]
    case_id: str
    party: str
    party_kind: Literal["natural", "non_natural"]
    determined_on: Day
    deadline: Day
    status: ReportStatus
    overdue: bool
    transactions: int
    total_amount: Money
    sha256: Sha256
    created_by: str
    created_at: Timestamp
    submitted_by: str | None
    submitted_at: Timestamp | None


class ListedSuspiciousReport(SuspiciousReport):
    """A suspicious transaction report in the list of both kinds: `business_date` is the determination's
    date, `lines` its transactions."""

    business_date: Day
    lines: int


AnyReport = Annotated[LargeValueReport | ListedSuspiciousReport, Field(discriminator="kind")]


class RegulatoryReports(Schema):
    """Reports of both kinds (报告台账), newest date first."""

    reports: list[AnyReport]


LargeValueDayStatus = Literal["submitted", "generated", "nothing_to_report", "missing"]


class LargeValueDay(Schema):
    """A business date and its large-value transaction report (大额交易报告): `submitted`; `generated`, not yet
    submitted; `nothing_to_report`, no transaction reaching the thresholds that date, so no report owed
    (generating it is refused with `report_no_data`); or `missing`, something to report but no report generated
    yet. `report_id` is the generated report's; `overdue` when generated or missing after the deadline (报送期限,
    5 working days)."""

    business_date: Day
    status: LargeValueDayStatus
    report_id: str | None
    deadline: Day
    overdue: bool


class LargeValueCounts(Schema):
    """How many dates of the range have each status."""

    submitted: int
    generated: int
    nothing_to_report: int
    missing: int


class LargeValueCoverage(Schema):
    """Every business date of the last 366 days up to yesterday, from the first of them with a transaction or a
    report, oldest first, each with the state of its large-value report; `from` and `to` are null when there is
    none. `overdue` lists the dates whose report is overdue, generated or missing."""

    first: Day | None = Field(alias="from")
    last: Day | None = Field(alias="to")
    counts: LargeValueCounts
    overdue: list[Day]
    days: list[LargeValueDay]


class ReportDeadlines(Schema):
    """Reports of both kinds not yet submitted, earliest deadline first, as of a China business date; and
    `large_value_days`, each business date's large-value report, so a date never generated shows too."""

    reports: list[AnyReport]
    as_of: Day
    large_value_days: LargeValueCoverage


class SuspiciousReports(Schema):
    """Suspicious transaction reports, earliest deadline first, as of a China business date."""

    reports: list[SuspiciousReport]
    as_of: Day


class ReportedCase(MonitoringCase):
    """A case moved to `reported`, with the suspicious transaction report generated for it."""

    report: SuspiciousReport


# --- a suspicious transaction report's file (puhui.str.v1) -------------------------------------------


class StrInstitution(Schema):
    """The reporting institution (报告机构)."""

    name: str
    code: str


class StrSubject(Schema):
    """Who is reported (可疑主体), masked: never clear personal information (null when unknown)."""

    party_id: str
    kind: Literal["natural", "non_natural"]
    name_masked: str | None
    id_masked: str | None


class StrTypology(Schema):
    """A suspicious feature (可疑特征): the typology, the rule version and how many alerts it raised."""

    typology: AlertTypology
    name_zh: str
    rule_code: str
    rule_version: int
    alerts: int


class StrTransaction(Schema):
    """A suspicious transaction (可疑交易): a flow of the alerts' evidence, once, with the alerts citing it."""

    ref: str
    position: int
    direction: Direction
    counterparty: str | None
    amount: Money
    currency: Literal["CNY"]
    at: ChinaTime
    alert_ids: list[str]


class StrSummary(Schema):
    """What the monitor found, in Chinese and English."""

    zh: str
    en: str


class SuspiciousReportFile(Schema):
    """A suspicious transaction report's file (可疑交易报告, `puhui.str.v1`, as in `puhui.regtech.str_report`)."""

    schema_id: Literal["puhui.str.v1"] = Field(alias="schema")
    report_id: str
    case_id: str
    institution: StrInstitution
    subject: StrSubject
    typologies: list[StrTypology]
    transactions: list[StrTransaction]
    total_amount: Money
    currency: Literal["CNY"]
    detected_on: Day
    determined_on: Day
    deadline: Day
    narrative: str
    summary: StrSummary
    generated_by: str
    generated_at: ChinaTime


# --- the supervision dashboard (监管数据看板) ---------------------------------------------------------


class DashboardFlow(Schema):
    """How many transactions of a business form over the range, and their amount."""

    count: int
    amount: Money


class DashboardFlows(Schema):
    """Flows by business form over the range: payments, 放款/还款, 申购/赎回 and supply-chain financing (融资)."""

    payments: DashboardFlow
    lending_disbursements: DashboardFlow
    lending_repayments: DashboardFlow
    mmf_subscriptions: DashboardFlow
    mmf_redemptions: DashboardFlow
    fund_purchases: DashboardFlow
    fund_redemptions: DashboardFlow
    supply_chain_financing: DashboardFlow


class Indicator(Schema):
    """A risk indicator with its early-warning threshold (预警阈值, e.g. "< 1") and whether it breaches it
    (`value` null when there is nothing to measure, which is no breach)."""

    value: Ratio | None
    warn_if: str = Field(pattern=r"^[<>] [0-9.]+$", examples=["< 1"])
    breach: bool


class ReserveCoverage(Indicator):
    """备付金覆盖率: the reserve over the wallets' balances, now."""

    reserve: Money
    wallets: Money


class OverdueRate(Indicator):
    """逾期率: overdue principal over the outstanding principal of the active loans disbursed by `to`, as of now
    (the dashboard's `outstanding_principal`, by the loans' delinquency buckets now)."""

    overdue_principal: Money


class BorrowerConcentration(Indicator):
    """集中度: the top-10 borrowers' share of the outstanding principal of the loans disbursed by `to`, as of now
    (the dashboard's `outstanding_principal`)."""

    borrowers: int
    top_principal: Money


class MerchantConcentration(Indicator):
    """集中度: the top-10 merchants' share of payment volume over the range."""

    merchants: int
    top_volume: Money


class FastRedemptionLiquidity(Indicator):
    """T+0 快速赎回流动性: the peak day's fast redemptions over the money-market funds' cash, now."""

    peak_day: Day | None
    peak_t0_redemptions: Money
    fund_cash: Money
    t0_redemptions: Money


class DashboardIndicators(Schema):
    reserve_coverage: ReserveCoverage
    overdue_m1_plus: OverdueRate
    overdue_m3_plus: OverdueRate
    top10_borrowers_share: BorrowerConcentration
    top10_merchants_share: MerchantConcentration
    fast_redemption_liquidity: FastRedemptionLiquidity


IndicatorName = Literal[
    "reserve_coverage",
    "overdue_m1_plus",
    "overdue_m3_plus",
    "top10_borrowers_share",
    "top10_merchants_share",
    "fast_redemption_liquidity",
]


class DashboardAlerts(Schema):
    """The monitor's alerts (预警) on the range's activity, by typology, and the cases still open."""

    by_typology: dict[AlertTypology, int]
    total: int
    open_cases: int


class DashboardReports(Schema):
    """The reports still owed (大额 and 可疑), as `/reports/deadlines` classifies them: `pending` counts the
    generated reports not yet submitted and the large-value dates `missing` (transactions, no report generated);
    a date with nothing to report is owed nothing. `overdue` lists the overdue generated reports by id,
    `missing_overdue` the missing dates past their deadline, `overdue_count` both; `next_deadline` is the
    earliest deadline not yet passed (None when every report owed is overdue); `large_value_days` counts the
    business dates of the deadlines view per status."""

    pending: int
    overdue: list[str]
    missing_overdue: list[Day]
    overdue_count: int
    next_deadline: Day | None
    large_value_days: LargeValueCounts


class SupervisionDashboard(Schema):
    """The supervision dashboard (监管数据看板) over the China business dates [`from`, `to`]; `warnings` names
    the indicators that breach their thresholds, and `reports_overdue` when a report is past its deadline."""

    first: Day = Field(alias="from")
    last: Day = Field(alias="to")
    flows: DashboardFlows
    outstanding_principal: Money = Field(
        description="贷款余额: the principal still owed, as of now, on the loans disbursed by `to` (a loan disbursed "
        "after `to` is not counted): the sum of the loan book's outstanding principal (`GET /v1/lending/loans`), "
        "net of every principal repayment, refund of a pay-later purchase and write-off. Not the balance at the "
        "end of `to`: repayments made after `to` are deducted, since the lending records keep neither when a "
        "loan was written off nor its past delinquency; `outstanding_basis` says so. The overdue rates and the "
        "borrower concentration are over this figure."
    )
    outstanding_basis: str = Field(
        description="what `outstanding_principal` is: as of now, of the loans disbursed by `to`",
        examples=["as of now, loans disbursed by 2026-12-09"],
    )
    indicators: DashboardIndicators
    alerts: DashboardAlerts
    reports: DashboardReports
    warnings: list[IndicatorName | Literal["reports_overdue"]]
