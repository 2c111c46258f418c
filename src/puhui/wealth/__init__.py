"""Internet wealth management (互联网理财): money-market-fund wallet, fund distribution, suitability, robo-advice."""
