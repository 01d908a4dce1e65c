"""Recorded runs, shared by the imports and the maintenance runs (which never import
each other): plans and their fingerprints (plan), applying as a recorded run that
always leaves a row in the history (recorder), the rejected input kept with a run
(rejections) and reading the history back (history)."""
