-- Published LA and England figures from the LA indicator files (SMC and LG Inform, both from DfE statistics)
-- for some areas and one key stage. They fill years the performance tables do not cover (2021/22 on).
select area_code, area_level, key_stage, start_year, academic_year, measure, pupil_group, value,
       null::double as ci_low, null::double as ci_high, cohort, status, 'final' as version, 'indicator' as kind,
       source_file, source as publisher, case when source like 'Social Mobility%' then 2 else 3 end as priority
from la_indicator
where list_contains($areas, area_code) and key_stage = $ks and area_level in ('la', 'england')
  and pupil_group in ('all', 'disadvantaged', 'other')
