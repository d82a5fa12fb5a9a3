-- Each school's most recent single-word Ofsted grade (the bundled history and the management
-- information's latest OEIF graded inspection; two graded the same day: the weaker grade), with its date.
select urn, grade, grade_label, inspection_date
from (select urn, grade, inspection_date,
             case when grade = 3 and inspection_date < date '2012-09-01' then 'Satisfactory'
                  else ['Outstanding', 'Good', 'Requires improvement', 'Inadequate'][grade] end as grade_label,
             row_number() over (partition by urn order by inspection_date desc nulls last, grade desc) rk
      from ofsted_judgement where framework = 'single_word' and urn = inspected_urn and grade is not null)
where rk = 1
