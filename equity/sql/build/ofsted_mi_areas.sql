-- The report-card areas of the staged Ofsted management information, one row per school and area
-- (a cell with no value, 'NULL', is no row). Macros: marts_ofsted_a_tables.sql.
insert into ofsted_report_card by name
with areas as (
    select mi_int(URN) as urn, _row, a.*
    from stg_ofsted_mi_raw,
    lateral (values
        (1, 'Inclusion', "Inclusion", "Inclusion - date of grade"),
        (2, 'Curriculum and teaching', "Curriculum and teaching", "Curriculum and teaching - date of grade"),
        (3, 'Achievement', "Achievement", "Achievement - date of grade"),
        (4, 'Attendance and behaviour', "Attendance and behaviour", "Attendance and behaviour - date of grade"),
        (5, 'Personal development and wellbeing', "Personal development and wellbeing",
            "Personal development and wellbeing - date of grade"),
        (6, 'Early years', "Early years (where applicable)", "Early years - date of grade"),
        (7, 'Post-16', "Post-16 provision (where applicable)", "Post-16 provision - date of grade"),
        (8, 'Leadership and governance', "Leadership and governance", "Leadership and governance - date of grade")
    ) a(area_order, area, v, d))
select urn, area_order, area, mi_text(v) as grade_label, rc_grade(v) as grade, mi_date(d) as grade_date,
       mi_text(v) is null or rc_grade(v) is not null or mi_text(v) = 'Not applicable' as known,
       $source_file as source_file, _row as source_row
from areas
where urn is not null and mi_text(v) is not null;
