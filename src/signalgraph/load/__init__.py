"""The batch-load engine: read inputs, validate records, write them in batches, count a run.

It knows no kind of record. Signals, entity records, facts and relations are loaders
(`signalgraph.load.loader.Loader`) in their own packages; the engine drives them:

- `run`: the run (`Ingest`, `ingest`): source, run record, reader thread, retries;
- `options`: what a run is told and reports (`IngestOptions`, `IngestProgress`,
  `IngestResult`);
- `loader`: the `Loader` and `Writer` protocols;
- `batching`, `batches`, `rejects`: batches of rows, refused records kept verbatim;
- `readers` (with `inputs`, `ndjson`, `csv_input`, `parquet`, `json_text`): inputs as
  positioned records;
- `fields`, `values`: field helpers and limits every kind validates with.
"""
