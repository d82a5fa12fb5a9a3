-- The distinct cells of each screened column of a staging table, each classified once: a national
-- file has millions of cells but few distinct ones per column. Kept as temp table screen_token
-- (col as written in the header, raw, status as cell_status gives it, value as cell_value gives it)
-- for the range check (screen_bad.sql) and the loaders' unknown-token report.
-- Slots: names, the columns' header names as text; tokens, list(distinct col) of each column, in
-- the same order.
create or replace temp table screen_token as
select col, raw, cell_status(raw) as status, cell_value(raw) as value from (
    select col, unnest(tokens) as raw from (
        select unnest([{names}]) as col, unnest([{tokens}]) as tokens from {table}));
