-- Percentage of pupils eligible for free school meals (all phases), an LA and England, every year held.
select area_code, area_name, start_year, academic_year, value, cohort, status, note, source, source_file
from la_indicator
where measure = 'fsm_eligible_pct' and area_code in ($la, 'england')
order by area_code, start_year
