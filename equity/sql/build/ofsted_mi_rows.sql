-- Ofsted management information: the rows of the file as read.
select count(*) n from stg_ofsted_mi_raw
