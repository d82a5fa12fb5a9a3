-- The first row whose URN is neither a number nor an LA or national summary row ('LA', 'NAT').
-- Slots: table, urn (the URN column).
select _row, {urn} as v from {table} where
nullif(trim({urn}), '') is not null and upper(trim({urn})) not in ('LA', 'NAT', 'ENG', 'ENGLAND')
and try_cast(trim({urn}) as integer) is null order by _row limit 1
