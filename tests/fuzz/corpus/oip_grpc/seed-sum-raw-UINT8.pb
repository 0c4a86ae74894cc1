
sum*
xUINT82
total: