-- Every school's shown value of one measure and group in one year, all of England (for England-wide estimates).
select r.urn, coalesce(r.la_code, s.la_code) as la_code, r.value, r.cohort, r.status
from school_result_shown r left join school s using (urn)
where r.key_stage = $ks and r.measure = $measure and r.pupil_group = $grp and r.start_year = $year
