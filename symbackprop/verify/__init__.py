"""Answer checking: a student's LaTeX derivation decided exactly, with feedback, one answer or a class.

Takes a Derivation and the answer text; gives a Verdict (correct, incorrect with the mistake named, or
unparseable with its column), and graded CSV/JSON for a class file.
"""
