-- School results as the app may show them (groups of fewer than 6 pupils hidden), for one key stage, either
-- every school of an LA ($la) or a list of schools ($urns), with the school's name.
select r.urn, coalesce(s.name, cast(r.urn as varchar)) as name, coalesce(r.la_code, s.la_code) as la_code,
       coalesce(s.is_mainstream, true) as is_mainstream,
       r.key_stage, r.start_year, r.academic_year, r.measure, r.pupil_group, r.value, r.ci_low, r.ci_high,
       r.cohort, r.status, r.version, r.kind, r.source_file
from school_result_shown r left join school s using (urn)
where r.key_stage = $ks
  and (coalesce(r.la_code, s.la_code) = $la or list_contains($urns, r.urn))
  and list_contains($measures, r.measure)
