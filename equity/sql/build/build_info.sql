-- When the build started, how long it took, its outcome and the folders and files it read (so a
-- rebuild from the browser starts from the same ones: equity.ingest.uploads).
-- Parameters: started, seconds, outcome, sources (JSON).
create table build_info as select ? as started, ? as seconds, ? as outcome, ? as sources
