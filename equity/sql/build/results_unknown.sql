-- Where the unknown tokens found by results_tokens.sql sit: row and column, for the ingest report.
-- Run only over the columns that hold one (slot names as text, slot cells as coalesce(col, '')).
-- Parameter: $file.
insert into unknown_token
select distinct $file, _row, col, raw from (
    select _row, unnest([{names}]) as col, unnest([{cells}]) as raw from {table})
where cell_status(raw) = 'unknown';
