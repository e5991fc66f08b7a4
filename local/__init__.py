"""The local runner behind `make run` (`python -m local`): the whole registry on one machine on
top of moto. Never shipped to Lambda: `make package` packages `app.py` and `chalicelib/` only."""
