-- A performance table's school rows, from its wide columns straight to long results in one pass.
-- Per row, every (measure, group, year) of the file's column map (staging table colmap: gi, measure,
-- grp, start_year, kind) gets its value, interval, cohort and share cells side by side: the slots
-- values, lows, highs, cohorts and shares list the file's columns in colmap's gi order ('' for a
-- missing cell, null where the map has no such column; several columns for one field: the largest
-- text, as a group-by max would give). Parameters: $ks, $version, $file, $school (RECTYPE codes).
insert into school_result_all
with cells as (
    select _row, trim({rectype}) as rectype, trim({urn}) as urn_raw, trim({lea}) as lea,
           unnest(range({groups})) as gi,
           unnest([{values}]) as v_raw, unnest([{lows}]) as lo_raw, unnest([{highs}]) as hi_raw,
           unnest([{cohorts}]) as n_raw, unnest([{shares}]) as share_raw
    from {table}
    where list_contains($school, trim({rectype}))),
valued as (
    select c.*, m.measure, m.grp, m.start_year, m.kind, cell_value(c.v_raw) as value
    from cells c join colmap m using (gi)),
-- cell_status, with its number test answered by the value already parsed (one parse per cell)
typed as (
    select *, case when v_raw is null or trim(v_raw) = '' then 'blank' when value is not null then 'ok'
                   else cell_status(v_raw) end as status
    from valued)
select cast(urn_raw as integer), lea, $ks, start_year, academic_year(start_year), measure, grp,
       value, cell_value(lo_raw), cell_value(hi_raw),
       coalesce(cast(round(cell_value(n_raw)) as integer), case when cell_value(share_raw) = 0 then 0 end),
       status, case when status = 'unknown' then v_raw end, $version, kind, $file, _row, rectype
from typed;
