-- Coverage of school results with the disadvantaged split, by LA, key stage, measure and year.
select r.la_code, coalesce(l.la_name, r.la_code) as la_name, r.key_stage, r.measure, r.academic_year,
       count(distinct r.urn) filter (where r.status = 'ok') as schools_with_value,
       count(distinct r.urn) as schools
from school_result r
left join (select la_code, any_value(la_name) la_name from la group by 1) l using (la_code)
where r.pupil_group = 'disadvantaged'
group by all
order by r.key_stage desc, la_name, r.measure, r.academic_year
