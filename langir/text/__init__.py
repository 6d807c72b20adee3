"""Reading description text: where a VLM answer says the target is, in words and in numbers.

One job per module; `langir.text` imports `langir.data` only (never describe, curate or cli):

- `vocabulary`   word tables (position words, nouns that own them, clause words, rewrites);
- `normalise`    fixed expressions rewritten to their meaning, markdown dropped;
- `phrases`      position words and their senses, phrases, clock positions;
- `region`       a claimed region (`Claim`) and its intervals;
- `claims`       claims read from prose, grouped into mentions (`parse_text`);
- `conventions`  which scale each VLM family writes coordinates on;
- `position`     a position written as numbers and an answer's reading of them;
- `markup`       positions in grounding tags and JSON;
- `coordinates`  positions written as numbers anywhere, prose included (`read_coordinates`);
- `judge`        the one judge: words (`ground`) and numbers (`judge_positions`) against a mask's targets.
"""
