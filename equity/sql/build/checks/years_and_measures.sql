-- Per key stage: the years held and how many measures (check "years and measures present").
select key_stage, string_agg(distinct academic_year, ', ' order by academic_year) y,
       count(distinct measure) m from school_result group by 1 order by 1
