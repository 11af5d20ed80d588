"""Stateful fakes of the providers' APIs, moto-style: a backend with the rules, thin HTTP callbacks."""
