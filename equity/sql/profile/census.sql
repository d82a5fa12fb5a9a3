-- A school's census figures (January census) and absence, by year.
select c.start_year, c.academic_year, c.pupils_on_roll, c.pct_fsm_ever, c.pct_eal, c.pct_sen_support, c.pct_ehcp,
       a.overall_absence_pct, a.persistent_absence_pct, c.source_file
from school_census c
left join school_absence a on a.urn = c.urn and a.start_year = c.start_year
where c.urn = $urn
order by c.start_year
