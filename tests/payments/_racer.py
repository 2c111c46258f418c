"""A racing process for tests/payments/test_group_commit_processes.py: pays the QR codes it is given
from 8 threads through the engine's group commit, all starting at one wall-clock instant, and
prints one JSON line of outcomes."""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from puhui.db import create_engine_from_url, group_commit
from puhui.errors import PuhuiError
from puhui.payments import grouping, service
from puhui.payments.models import VerificationStrength


def main() -> None:
    url, start_at, jobs = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    engine = create_engine_from_url(url)
    ready = threading.Barrier(8)

    def pay(job: list) -> str:
        payer, qr_id, amount, client_id = job

        def work(uow):
            return service.pay_qr(uow, payer, qr_id, amount, VerificationStrength.one_factor, client_id, 60)

        try:
            grouping.commit(engine, work, grouping.qr_locks(payer, qr_id))
            return "ok"
        except service.QrNotPayable:
            return "taken"
        except PuhuiError as error:
            return error.code

    def run(share: list) -> list[str]:
        ready.wait(timeout=60)
        time.sleep(max(0.0, start_at - time.time()))
        return [pay(job) for job in share]

    with ThreadPoolExecutor(max_workers=8) as pool:
        shares = list(pool.map(run, [jobs[i::8] for i in range(8)]))
    outcomes = {}
    for i, share in enumerate(shares):
        for job, outcome in zip(jobs[i::8], share, strict=True):
            outcomes[job[3]] = outcome
    stats = group_commit.committer_for(engine).stats
    print(json.dumps({"batches": stats.batches, "largest": stats.largest, "batch_retries": stats.batch_retries}))
    print(json.dumps(outcomes))
    engine.dispose()


if __name__ == "__main__":
    main()
