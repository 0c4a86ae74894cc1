
sum*
xINT82
total: