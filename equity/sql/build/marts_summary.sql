-- Small summaries of school_result computed once per build, so that pages read hundreds of rows
-- instead of scanning every school result (millions of rows at national scale).

-- Coverage of school results with the disadvantaged split, by LA, key stage, measure and year
-- (the Data page).
create table result_coverage as
select r.la_code, coalesce(l.la_name, r.la_code) as la_name, r.key_stage, r.measure, r.academic_year,
       count(distinct r.urn) filter (where r.status = 'ok') as schools_with_value,
       count(distinct r.urn) as schools
from school_result r
left join (select la_code, any_value(la_name) la_name from la group by 1) l using (la_code)
where r.pupil_group = 'disadvantaged'
group by all;
