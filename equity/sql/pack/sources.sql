-- The source files behind a pack's figures: school rows of its schools and published rows of its areas.
select source_file, key_stage, count(*) as rows, min(start_year) as first_year, max(start_year) as last_year
from (
    select source_file, key_stage, start_year from school_result_shown where list_contains($urns, urn)
    union all
    select source_file, key_stage, start_year from published_result where list_contains($areas, area_code)
)
group by source_file, key_stage
order by key_stage desc, source_file
