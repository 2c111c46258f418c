"""Robo-advice (智能投顾): target portfolios, backtests, and advice executed as fund orders."""
