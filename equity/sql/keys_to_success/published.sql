-- DfE's published England (state-funded) and LA figures for disadvantaged and other pupils, as
-- published (never recomputed), for the rule's plain-words reference points.
select area_code, area_level, start_year, academic_year, measure, pupil_group, value
from published_result
where key_stage = $key_stage and pupil_group in ('disadvantaged', 'other') and area_level in ('england', 'la')
  and value is not null
