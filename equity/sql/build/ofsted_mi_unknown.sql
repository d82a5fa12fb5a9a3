-- Cells of the staged Ofsted management information that hold a value outside Ofsted's scales
-- (report-card areas, safeguarding, the OEIF grades) or a date that is not dd/mm/yyyy. Each is
-- loaded as "not known" (never as a grade) and listed in the build report by row and column.
with cells as (
    select _row, c.* from stg_ofsted_mi_raw,
    lateral (values
        ('Inclusion', "Inclusion", 'rc'), ('Curriculum and teaching', "Curriculum and teaching", 'rc'),
        ('Achievement', "Achievement", 'rc'), ('Attendance and behaviour', "Attendance and behaviour", 'rc'),
        ('Personal development and wellbeing', "Personal development and wellbeing", 'rc'),
        ('Early years (where applicable)', "Early years (where applicable)", 'rc'),
        ('Post-16 provision (where applicable)', "Post-16 provision (where applicable)", 'rc'),
        ('Leadership and governance', "Leadership and governance", 'rc'),
        ('Safeguarding standards', "Safeguarding standards", 'safeguarding'),
        ('Latest OEIF overall effectiveness', "Latest OEIF overall effectiveness", 'overall'),
        ('Latest OEIF quality of education', "Latest OEIF quality of education", 'oeif'),
        ('Latest OEIF behaviour and attitudes', "Latest OEIF behaviour and attitudes", 'oeif'),
        ('Latest OEIF personal development', "Latest OEIF personal development", 'oeif'),
        ('Latest OEIF effectiveness of leadership and management',
            "Latest OEIF effectiveness of leadership and management", 'oeif'),
        ('Latest OEIF early years provision (where applicable)',
            "Latest OEIF early years provision (where applicable)", 'oeif'),
        ('Latest OEIF sixth form provision (where applicable)',
            "Latest OEIF sixth form provision (where applicable)", 'oeif'),
        ('Latest OEIF  safeguarding is effective?', "Latest OEIF  safeguarding is effective?", 'yesno'),
        ('Inspection start date', "Inspection start date", 'date'),
        ('Inspection start date of latest OEIF graded inspection',
            "Inspection start date of latest OEIF graded inspection", 'date'),
        ('Date of latest ungraded inspection', "Date of latest ungraded inspection", 'date')
    ) c("column", v, scale))
select _row as row, "column", trim(v) as value
from cells
where nullif(nullif(trim(v), ''), 'NULL') is not null
  and not case scale
      when 'rc' then trim(v) in ('Exceptional', 'Strong standard', 'Expected standard', 'Needs attention',
                                 'Urgent improvement', 'Not applicable')
      when 'safeguarding' then trim(v) in ('Met', 'Not met')
      when 'overall' then trim(v) in ('1', '2', '3', '4', 'Not judged')
      when 'oeif' then trim(v) in ('1', '2', '3', '4', '9')
      when 'yesno' then trim(v) in ('Yes', 'No')
      when 'date' then try_strptime(trim(v), '%d/%m/%Y') is not null
  end
order by _row, "column";
