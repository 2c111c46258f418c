"""End of day (日终) for every daily job: one rule for the business dates they accept.

- `dates`: the strict date parser of the APIs and commands (`YYYY-MM-DD` strings only) and the
  checks against the platform's clock: a job runs a date once it is over (`check_over`, every job
  alike), a read takes any date up to today (`check_date`).
- `runs`: which dates each job completed (`eod_runs`), and the runner that refuses a date before
  the last completed one and runs a gap day by day, in order, each day as if it had run on time.
- `answers`: the words of every end-of-day answer, over HTTP and from the commands (`business_date`,
  `already_done`, `caught_up`).

Each business form keeps its own tables and its own idempotent day step; this package owns only
the run bookkeeping.
"""
