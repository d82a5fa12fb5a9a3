-- Keys with more than one value once versions are resolved (check "one value per school, year,
-- measure and group").
select count(*) n from (select urn, key_stage, start_year, measure, pupil_group
                        from school_result group by all having count(*) > 1)
