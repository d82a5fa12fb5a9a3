-- Two different files with figures for the same school, year, key stage, measure, group and
-- version (final or provisional), both as the file's own year: per pair of files, how many figures
-- they share, how many differ and the first that differs. Where they disagree the build uses the
-- file whose path sorts last (the tie-break in equity/sql/build/marts_results.sql).
with c as (select cast(urn as varchar) as k, key_stage, start_year, measure, pupil_group, version, source_file, value, status
           from school_result_all where kind = 'current' and cast(urn as varchar) is not null)
select a.source_file as fa, b.source_file as fb, count(*) as n,
       count(*) filter (where a.value is distinct from b.value or a.status <> b.status) as ndiff,
       arg_min(a.k || ' ' || a.measure || ' (' || a.pupil_group || ') ' || academic_year(a.start_year) || ': ' ||
               coalesce(cast(a.value as varchar), a.status) || ' vs ' || coalesce(cast(b.value as varchar), b.status),
               a.k || a.measure || a.pupil_group)
           filter (where a.value is distinct from b.value or a.status <> b.status) as example
from c a join c b using (k, key_stage, start_year, measure, pupil_group, version)
where a.source_file < b.source_file group by all order by 1, 2
