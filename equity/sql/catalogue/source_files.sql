-- Every file the build read, with its kind and the academic year it was dated to (if any).
select file, kind, key_stage, start_year, version, rows, status from source_file order by kind, file
