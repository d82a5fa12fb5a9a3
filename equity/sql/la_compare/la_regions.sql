-- Every LA's name and region: the government office region printed in DfE's FSM file, else the DfE
-- performance-tables region of the LA code list.
with fsm as (
    select area_code as la_code, min(area_name) as la_name, min(region_name) as region_name
    from la_indicator where area_level = 'la' and measure = 'fsm_eligible_pct' and regexp_full_match(area_code, '\d{3}')
    group by 1),
codes as (select la_code, min(la_name) as la_name, min(region_name) as region_name from la
          where la_code is not null group by 1)
select coalesce(c.la_code, f.la_code) as la_code, coalesce(c.la_name, f.la_name) as la_name,
       coalesce(f.region_name, c.region_name) as region_name
from codes c full outer join fsm f on f.la_code = c.la_code
