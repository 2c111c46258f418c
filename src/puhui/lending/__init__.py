"""Online lending (网络借贷): consumer loans, credit lines, buy-now-pay-later, joint lending with banks."""
