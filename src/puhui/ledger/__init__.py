"""The double-entry ledger (复式记账总账), modelled on TigerBeetle's accounts and transfers."""
