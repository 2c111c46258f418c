"""Robo-advice executed as trades (智能投顾执行): a target ETF portfolio bought in whole lots through the
brokerage's order path and rebalanced by drift."""
