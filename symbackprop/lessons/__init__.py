"""The lectures' remaining topics: the learning rate, vanishing gradients, pictures of graphs and curves.

Takes specs and derivations; gives numbers and matplotlib pictures. A last stage: it may use any earlier one.
"""
