"""Medical claims (理赔): report, rules-based adjudication (自动核赔), a manual review queue and payment
from the insurer's held premiums."""
