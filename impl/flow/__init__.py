"""Gradient flow of factorised linear models A = W U (002): the model, its loss and gradients
in closed form (`factorized`), and plain gradient descent that records the trajectory; the flow
laws as 002 states them, in sympy (`laws`)."""
