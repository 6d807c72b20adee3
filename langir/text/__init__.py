"""Reading description text: position words, coordinates written as numbers, and the one judge.

Modules, one job each: `conventions` (which scale each VLM family writes numbers on),
`coordinates` (numbers in free text → positions), `judge` (positions against mask targets).
The prose claim reader lives in `langir.curate.regions` for now. Imports `langir.data` only.
"""
