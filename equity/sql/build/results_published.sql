-- A performance table's LA and England rows (published figures), in the same one pass as
-- results_school.sql (same slots). Parameters: $ks, $version, $file and the RECTYPE codes of
-- $la, $england_all (all schools) and $england (state-funded) rows.
insert into published_result_all
with cells as (
    select _row, trim({rectype}) as rectype, trim({lea}) as lea,
           case when list_contains($la, trim({rectype})) then 'la'
                when list_contains($england_all, trim({rectype})) then 'england_all'
                when list_contains($england, trim({rectype})) then 'england' end as area,
           unnest(range({groups})) as gi,
           unnest([{values}]) as v_raw, unnest([{lows}]) as lo_raw, unnest([{highs}]) as hi_raw,
           unnest([{cohorts}]) as n_raw, unnest([{shares}]) as share_raw
    from {table}
    where list_contains($la || $england_all || $england, trim({rectype}))),
valued as (
    select c.*, m.measure, m.grp, m.start_year, m.kind, cell_value(c.v_raw) as value
    from cells c join colmap m using (gi)),
-- cell_status, with its number test answered by the value already parsed (one parse per cell)
typed as (
    select *, case when v_raw is null or trim(v_raw) = '' then 'blank' when value is not null then 'ok'
                   else cell_status(v_raw) end as status
    from valued)
select case when area = 'la' then lea else area end, area, $ks, start_year, academic_year(start_year),
       measure, grp, value, cell_value(lo_raw), cell_value(hi_raw),
       coalesce(cast(round(cell_value(n_raw)) as integer), case when cell_value(share_raw) = 0 then 0 end),
       status, case when status = 'unknown' then v_raw end, $version, kind, $file, _row, rectype
from typed;
