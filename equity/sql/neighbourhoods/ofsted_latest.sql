-- Each school's most recent graded Ofsted inspection (two graded the same day: the weaker grade).
select urn, grade, grade_label, inspection_date
from (select *, row_number() over (partition by urn order by inspection_date desc nulls last, grade desc) rk
      from ofsted_inspection where grade is not null)
where rk = 1
