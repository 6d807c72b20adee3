"""`langir review`: a local page to look at, fix, accept and re-ask descriptions (extra `review`).

`store` holds every write (it needs only the standard library and the ledger, so `validate`,
`pack` and `describe --redo review` use it without the extra); `index` judges and filters the
samples; `thumbs` renders cached thumbnails; `app` is the Starlette app; `server` runs it.
"""
