-- The tokens no rule knows (cell_status 'unknown') in a staging table's screened columns, from the
-- plausibility screen's distinct cells of each column (temp table screen_token, col as written in
-- the header): a national file has millions of cells, few distinct ones per column.
select col, raw from screen_token where status = 'unknown';
