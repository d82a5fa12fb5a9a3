-- The (key stage, measure, year) combinations in which one LA has a published figure (status ok) for
-- both disadvantaged and other pupils, in DfE's performance tables or the LA indicator files
-- (the same rows la_gap_table reads).
with rows as (
    select key_stage, measure, start_year, pupil_group
    from published_result
    where area_level = 'la' and area_code = $la and status = 'ok' and value is not null
      and pupil_group in ('disadvantaged', 'other')
    union all
    select key_stage, measure, start_year, pupil_group
    from la_indicator
    where area_level = 'la' and area_code = $la and status = 'ok' and value is not null
      and pupil_group in ('disadvantaged', 'other'))
select key_stage, measure, start_year
from rows
group by all
having count(distinct pupil_group) = 2
