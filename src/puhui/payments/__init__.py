"""Third-party payment: wallets, top-up and withdrawal through a bank channel, acquiring, settlement.

The bank side, self-contained and importable on its own:

- `channel`            the `BankChannel` protocol the platform depends on, its values (`BankOrder`,
                       `Acknowledgement`, `OrderStatus`, `BankNotification`) and errors
- `channel_signing`    HMAC-SHA256 signing and verification of notifications (forged, stale, replayed)
- `bank_statement`     the daily statement file of the reserve account: `StatementLine`, format, parser
- `sandbox_bank`       `SandboxBank`, a `BankChannel` that behaves like a real gateway, and `DeliveryPump`
- `sandbox_plan`       its seeded `FaultPlan` (late, lost, duplicated notifications, declines) and test cards
- `sandbox_records`    its books, their audit, and its JSON state
- `sandbox_statement`  statement-file faults for reconciliation tests

The platform side of the channel: `wallets` (top-ups and withdrawals with two-phase holds, finished
once by a notification or a query) and `bank_worker` (what `puhui serve` runs: the server's sandbox
bank, its notifications delivered in process, and the sweeper of orders left pending).

Nothing is imported here, so importing one module of the package does not load the others.
"""
