-- How many LAs DfE published both disadvantaged and other figures for, per key stage, measure and year.
select key_stage, measure, start_year, count(*) as las from (
    select area_code, key_stage, measure, start_year
    from published_result
    where area_level = 'la' and pupil_group in ('disadvantaged', 'other') and status = 'ok'
    group by all having count(distinct pupil_group) = 2)
group by all
