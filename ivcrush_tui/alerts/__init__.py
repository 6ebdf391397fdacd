"""Alerts (issue 14): rules from `[alerts]` evaluated on each analysis and on the breakers, each
alert de-duplicated per (rule, symbol, window), stored, and delivered to the console (a Textual
notification and the bell) and to an optional command (JSON on stdin, killed at its timeout).

model.py the Alert record and its JSON; rules.py pure evaluation; command.py the command
delivery; center.py `AlertCenter`, the one entry point (`observe(analysis)`). No Textual here.
"""
