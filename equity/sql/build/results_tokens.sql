-- The tokens no rule knows (cell_status 'unknown') in a performance table's mapped columns, each
-- distinct token of a column classified once (a national file has millions of cells, few tokens).
-- Slots: names, the columns' upper-cased names as text; tokens, list(distinct coalesce(col, '')) of
-- each column, in the same order.
select col, raw from (
    select col, unnest(tokens) as raw from (
        select unnest([{names}]) as col, unnest([{tokens}]) as tokens from {table}))
where cell_status(raw) = 'unknown';
