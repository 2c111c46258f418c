"""Risk control (风控): customer features, credit scoring, credit limits and real-time fraud decisions.

`features` profiles customers from platform data as of a point in time; `scoring` trains and serves
the credit scorecard and its challenger; `fraud` decides approve / review / decline for payments.
"""
