"""PWWS and offline TextFooler attacks, built from TextAttack components, with per-shard resume.

TextAttack reads NLTK data when it is imported, so `amda.attack.offline.activate(nltk_data)` runs
before `amda.attack.wrapper` or `amda.attack.recipes` is imported (they call it themselves when
`NLTK_DATA` is set). `amda.attack.runner` imports TextAttack only inside its functions.
"""
